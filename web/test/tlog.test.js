// The audit page's checks (src/tlog.js) against a tree and notes made
// here from the specifications, and against tampered copies of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  leafHash, nodeHash, verifyInclusion, verifyConsistency, openCheckpoint, parseVerifierKey, tilePath, parseBundle, b64encode,
} from '../src/tlog.js';

// RFC 6962 §2.1: MTH and PATH, written the slow way.
async function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}
async function path(m, leaves) {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  if (m < k) return [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))];
  return [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

test('inclusion proofs of every entry of trees of 1 to 13 entries verify; tampered ones do not', async () => {
  for (let n = 1; n <= 13; n++) {
    const leaves = await Promise.all(Array.from({ length: n }, (_, i) => leafHash(`yagura-log/v1\nkind test\nid ${i}\n`)));
    const root = await mth(leaves);
    for (let i = 0; i < n; i++) {
      const p = await path(i, leaves);
      assert.equal(await verifyInclusion(i, n, leaves[i], p, root), true, `entry ${i} of ${n}`);
      const other = await leafHash('something else');
      assert.equal(await verifyInclusion(i, n, other, p, root), false, `a changed entry ${i} of ${n}`);
      if (p.length) {
        const bad = p.map(x => x.slice());
        bad[0][0] ^= 1;
        assert.equal(await verifyInclusion(i, n, leaves[i], bad, root), false, `a changed proof ${i} of ${n}`);
        assert.equal(await verifyInclusion(i, n, leaves[i], p.slice(1), root), false, `a short proof ${i} of ${n}`);
      }
    }
    assert.equal(await verifyInclusion(n, n, leaves[0], [], root), false, 'an index past the tree');
  }
});

// RFC 6962 §2.1.2: SUBPROOF, the slow way.
async function subproof(m, leaves, whole) {
  const n = leaves.length;
  if (m === n) return whole ? [] : [await mth(leaves)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) return [...(await subproof(m, leaves.slice(0, k), whole)), await mth(leaves.slice(k))];
  return [...(await subproof(m - k, leaves.slice(k), false)), await mth(leaves.slice(0, k))];
}

test('consistency proofs between every pair of sizes up to 12 verify; tampered ones do not', async () => {
  const leaves = await Promise.all(Array.from({ length: 12 }, (_, i) => leafHash(`entry ${i}`)));
  for (let n = 1; n <= 12; n++) {
    const newRoot = await mth(leaves.slice(0, n));
    for (let m = 1; m <= n; m++) {
      const oldRoot = await mth(leaves.slice(0, m));
      const proof = m === n ? [] : await subproof(m, leaves.slice(0, n), true);
      assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, proof), true, `${m} -> ${n}`);
      if (proof.length) {
        const bad = proof.map(x => x.slice());
        bad[bad.length - 1][3] ^= 0x80;
        assert.equal(await verifyConsistency(m, n, oldRoot, newRoot, bad), false, `changed proof ${m} -> ${n}`);
      }
      if (m < n) {
        // Another history: the old tree with its last entry changed.
        const other = await mth([...leaves.slice(0, m - 1), await leafHash('rewritten')]);
        assert.equal(await verifyConsistency(m, n, other, newRoot, proof), false, `rewritten ${m} -> ${n}`);
      }
    }
  }
});

function keyPair(name) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const key = Buffer.concat([Buffer.from([1]), pub]);
  const id = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), key])).digest().subarray(0, 4);
  return { vkey: `${name}+${id.toString('hex')}+${key.toString('base64')}`, id, privateKey };
}

function sign(text, name, k) {
  const sig = crypto.sign(null, Buffer.from(text), k.privateKey);
  return `${text}\n\u2014 ${name} ${Buffer.concat([k.id, sig]).toString('base64')}\n`;
}

test('a checkpoint signed by the key verifies; a changed one or another key does not', async () => {
  const name = 'yagura.local/log';
  const k = keyPair(name);
  const root = b64encode(new Uint8Array(32).fill(7));
  const text = `${name}\n22\n${root}\n`;
  const note = sign(text, name, k);
  const ok = await openCheckpoint(note, k.vkey);
  assert.equal(ok.ok, true);
  assert.equal(ok.size, 22);
  assert.equal(ok.origin, name);
  assert.equal(ok.rootB64, root);
  const changed = note.replace('\n22\n', '\n23\n');
  assert.equal((await openCheckpoint(changed, k.vkey)).reason, 'bad_signature');
  const other = keyPair(name);
  assert.equal((await openCheckpoint(sign(text, name, other), k.vkey)).reason, 'not_signed_by_key');
  await assert.rejects(parseVerifierKey(k.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /key id/);
});

test('tile paths and entry bundles follow C2SP tlog-tiles', () => {
  assert.equal(tilePath(0, 0), '0/000');
  assert.equal(tilePath(0, 1234067), '0/x001/x234/067');
  assert.equal(tilePath('entries', 3, 5), 'entries/003.p/5');
  const bundle = new Uint8Array([0, 2, 104, 105, 0, 0, 0, 1, 33]);
  assert.deepEqual(parseBundle(bundle).map(e => Array.from(e)), [[104, 105], [], [33]]);
  assert.throws(() => parseBundle(new Uint8Array([0, 5, 1])), /truncated/);
});
