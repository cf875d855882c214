// Every message the pages ask for exists in Japanese and English, with the
// same placeholders; none is left unused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { M } from '../src/messages.js';

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
const code = fs.readdirSync(src, { recursive: true }).filter(f => f.endsWith('.js') && f !== 'messages.js')
  .map(f => fs.readFileSync(path.join(src, f), 'utf8')).join('\n')
  .replace(/^\s*\/\/.*$/gm, ''); // comments name no message

test('each message has both languages and the same placeholders', () => {
  for (const [k, v] of Object.entries(M)) {
    assert.ok(Array.isArray(v) && v.length === 2 && v[0] && v[1], `${k}: [ja, en]`);
    const ph = s => [...s.matchAll(/\{(\w+)\}/g)].map(m => m[1]).sort().join();
    assert.equal(ph(v[0]), ph(v[1]), `${k}: placeholders`);
  }
});

test('every key the pages name exists, and every key is used', () => {
  const used = new Set([...code.matchAll(/\bt\('([\w.]+)'/g)].map(m => m[1]));
  for (const k of used) assert.ok(k in M, `missing message ${k}`);
  // Keys built at run time: t(`prefix.${x}`), term('kind', code), t(k) of a table.
  const prefixes = [...code.matchAll(/t\(`([\w.]+)\$\{/g)].map(m => m[1])
    .concat([...code.matchAll(/(?:term|badge)\('(\w+)'/g)].map(m => `${m[1]}.`));
  const named = new Set([...code.matchAll(/'([a-z_]+\.[a-z_0-9.]+)'/g)].map(m => m[1]));
  const unused = Object.keys(M).filter(k => !used.has(k) && !named.has(k) && !prefixes.some(p => k.startsWith(p)));
  assert.deepEqual(unused, []);
});
