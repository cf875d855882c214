import { h, add } from '../dom.js';
import { t, fmtTime } from '../i18n.js';
import * as api from '../api.js';
import { title, table, errorBox, tlp, select } from '../ui.js';

// TLP 2.0 marking definitions (STIX 2.1 §7.2.1.4 ids) by name.
const TLP_IDS = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'TLP:CLEAR',
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'TLP:CLEAR',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'TLP:GREEN',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'TLP:GREEN',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'TLP:AMBER',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'TLP:AMBER',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'TLP:AMBER+STRICT',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'TLP:RED',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'TLP:RED',
};

export function tlpOf(o) {
  for (const ref of o.object_marking_refs || []) if (TLP_IDS[ref]) return TLP_IDS[ref];
  return null;
}

const taxii = (path, query) => api.get(`/taxii2/api/${path}`, query, { accept: api.TAXII });

export async function intelPage(main) {
  add(main, title(t('intel.title')), h('p', { class: 'lead' }, t('intel.lead')));
  try {
    const res = await taxii('collections/');
    add(main, table(t('intel.collections'), [
      { label: t('intel.collection'), value: c => h('a', { href: `#/intel/${encodeURIComponent(c.id)}` }, c.title || c.id) },
      { label: t('intel.description'), value: c => c.description || '—' },
      { label: t('intel.access'), value: c => [c.can_read ? t('intel.read') : null, c.can_write ? t('intel.write') : null].filter(Boolean).join(', ') || '—' },
      { label: t('col.id'), value: c => h('code', null, c.id) },
    ], res.collections || []));
  } catch (e) {
    add(main, errorBox(e));
  }
}

function describe(o) {
  if (o.type === 'indicator') return h('code', null, o.pattern || o.name || o.id);
  if (o.type === 'sighting') {
    return [t('intel.sighting_of', { ref: o.sighting_of_ref || '' }), o.count ? ` ×${o.count}` : '',
      o.first_seen ? ` ${fmtTime(o.first_seen)}` : ''];
  }
  if (o.type === 'relationship') return `${o.source_ref} ${o.relationship_type} ${o.target_ref}`;
  return o.name || o.value || o.id;
}

export async function collectionPage(main, { params: [id], query }) {
  const type = query.get('type') || '';
  add(main, title(t('intel.collection_title', { id })));
  const sel = select([['', t('filters.all')], ['indicator', t('intel.indicators')], ['sighting', t('intel.sightings')],
    ['infrastructure', 'infrastructure'], ['relationship', 'relationship'], ['identity', 'identity']], type, { name: 'type', id: 'f-type' });
  const form = h('form', { class: 'filters', 'aria-label': t('filters.label') },
    h('div', { class: 'field inline' }, h('label', { for: 'f-type' }, t('intel.type')), sel),
    h('button', { type: 'submit' }, t('filters.apply')));
  form.addEventListener('submit', ev => { ev.preventDefault(); location.hash = `#/intel/${encodeURIComponent(id)}?type=${sel.value}`; });
  add(main, form);
  try {
    const env = await taxii(`collections/${encodeURIComponent(id)}/objects/`, {
      limit: 100, next: query.get('next') || undefined, 'match[type]': type || undefined,
    });
    const objs = env.objects || [];
    add(main, table(t('intel.objects'), [
      { label: t('intel.type'), value: o => o.type },
      { label: t('intel.what'), value: describe },
      { label: 'TLP', value: o => tlp(tlpOf(o)) },
      { label: t('intel.confidence'), value: o => (o.confidence ?? '—') },
      { label: t('intel.valid'), value: o => (o.valid_from ? `${fmtTime(o.valid_from)}${o.valid_until ? ` – ${fmtTime(o.valid_until)}` : ''}` : '—') },
      { label: t('col.updated'), value: o => fmtTime(o.modified || o.created) },
    ], objs, { empty: t('intel.none') }));
    if (env.more && env.next) {
      const q = new URLSearchParams(query);
      q.set('next', env.next);
      add(main, h('nav', { class: 'pager', 'aria-label': t('page.label') },
        query.get('next') ? h('a', { href: `#/intel/${encodeURIComponent(id)}${type ? `?type=${type}` : ''}` }, t('page.first')) : null,
        h('a', { href: `#/intel/${encodeURIComponent(id)}?${q}`, rel: 'next' }, t('page.more'))));
    }
  } catch (e) {
    add(main, errorBox(e));
  }
}
