// Times typed in the user's zone are sent as UTC, across daylight saving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localInputToUTC, utcToLocalInput } from '../src/i18n.js';

test('a wall time in a zone is the right UTC instant, and back', () => {
  assert.equal(localInputToUTC('2026-11-22T06:00', 'Asia/Tokyo'), '2026-11-21T21:00:00Z');
  assert.equal(localInputToUTC('2026-07-01T12:00', 'Europe/Paris'), '2026-07-01T10:00:00Z');
  assert.equal(localInputToUTC('2026-01-15T12:00', 'Europe/Paris'), '2026-01-15T11:00:00Z');
  assert.equal(localInputToUTC('2026-03-29T03:30', 'Europe/Paris'), '2026-03-29T01:30:00Z');
  assert.equal(localInputToUTC('2026-11-01T01:30', 'America/New_York'), '2026-11-01T05:30:00Z');
  assert.equal(localInputToUTC('2026-05-05T00:00', 'UTC'), '2026-05-05T00:00:00Z');
  assert.equal(localInputToUTC('yesterday', 'UTC'), null);
  assert.equal(utcToLocalInput('2026-11-21T21:00:00Z', 'Asia/Tokyo'), '2026-11-22T06:00');
  assert.equal(utcToLocalInput('2026-07-01T10:00:00Z', 'Europe/Paris'), '2026-07-01T12:00');
});
