// Charts are drawn by Chart.js (only the parts used are bundled). Each
// chart has a text alternative: its canvas is labelled, and the same
// numbers follow in a table.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend } from 'chart.js';
import { h } from './dom.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export function barChart({ label, labels, datasets, stacked = false }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const box = h('div', { class: 'chart' }, canvas);
  const colors = ['#1f5fa8', '#b3261e', '#2e7d32', '#8a5a00', '#6a3fa0'];
  // Chart.js needs the canvas in the document to size it.
  requestAnimationFrame(() => {
    // eslint-disable-next-line no-new
    new Chart(canvas, {
      type: 'bar',
      data: { labels, datasets: datasets.map((d, i) => ({ backgroundColor: colors[i % colors.length], ...d })) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
  });
  return box;
}
