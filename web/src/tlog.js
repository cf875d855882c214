// The transparency log, checked in the browser from the specifications:
// RFC 6962/9162 Merkle hashing and inclusion proofs (WebCrypto SHA-256),
// C2SP signed notes and tlog-checkpoints (Ed25519 with WebCrypto, or
// @noble/ed25519 where a browser lacks it), C2SP tlog-tiles entry bundles.
// Nothing here trusts the tower: the proof it sends is recomputed.

const enc = new TextEncoder();
const dec = new TextDecoder();

export function b64decode(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function hex(bytes) {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

// RFC 6962 §2.1: a leaf is SHA-256(0x00 || entry), a node SHA-256(0x01 || l || r).
export const leafHash = entry => sha256(concat(Uint8Array.of(0), typeof entry === 'string' ? enc.encode(entry) : entry));
export const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// RFC 9162 §2.1.3.2: the root the audit path leads to from leaf at index
// in a tree of size, or null when the path is malformed.
export async function rootFromInclusion(index, size, leaf, proof) {
  if (index < 0 || index >= size) return null;
  let fn = BigInt(index), sn = BigInt(size - 1), r = leaf;
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

export async function verifyInclusion(index, size, leaf, proof, root) {
  const r = await rootFromInclusion(index, size, leaf, proof);
  return r !== null && equal(r, root);
}

// RFC 9162 §2.1.4.2: whether proof shows the tree of size m (oldRoot) is
// a prefix of the tree of size n (newRoot): nothing removed or changed.
export async function verifyConsistency(m, n, oldRoot, newRoot, proof) {
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  if (m === 0 || m > n || proof.length === 0) return false;
  let path = proof;
  if ((m & (m - 1)) === 0) path = [oldRoot, ...proof]; // a power of two: the old root starts it
  let fn = BigInt(m - 1), sn = BigInt(n - 1);
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && equal(fr, oldRoot) && equal(sr, newRoot);
}

// C2SP signed-note verifier key: <name>+<hex key id>+<base64(0x01 || key)>.
export async function parseVerifierKey(text) {
  const s = text.trim();
  const i = s.indexOf('+'), j = s.indexOf('+', i + 1);
  if (i <= 0 || j < 0) throw new Error('malformed verifier key');
  const name = s.slice(0, i), keyId = s.slice(i + 1, j), key = b64decode(s.slice(j + 1));
  if (key.length !== 33 || key[0] !== 1) throw new Error('not an Ed25519 verifier key');
  // The key id is the first 4 bytes of SHA-256(name || "\n" || 0x01 || key).
  const want = hex((await sha256(concat(enc.encode(name + '\n'), key))).slice(0, 4));
  if (want !== keyId.toLowerCase()) throw new Error('the key id does not match the key');
  return { name, keyId: want, pub: key.slice(1) };
}

let nobleVerify = null;
export async function ed25519Verify(pub, sig, msg) {
  try {
    const k = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    return { ok: await crypto.subtle.verify({ name: 'Ed25519' }, k, sig, msg), by: 'WebCrypto' };
  } catch (e) {
    if (e && e.name === 'DataError') return { ok: false, by: 'WebCrypto' };
    if (!nobleVerify) nobleVerify = (await import('@noble/ed25519')).verifyAsync;
    return { ok: await nobleVerify(sig, msg, pub), by: '@noble/ed25519' };
  }
}

// A signed note checked against the verifier key, its checkpoint parsed:
// {ok, origin, size, root (bytes), rootB64, reason, signers, by}.
export async function openCheckpoint(note, vkeyText) {
  const vkey = await parseVerifierKey(vkeyText);
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) return { ok: false, reason: 'no_signature' };
  const text = note.slice(0, cut + 1);
  const signers = [];
  let ok = false, by = null, bad = false;
  for (const line of note.slice(cut + 2).split('\n')) {
    if (line === '') continue;
    if (!line.startsWith('\u2014 ')) return { ok: false, reason: 'malformed' };
    const [signer, sigB64] = line.slice(2).split(' ');
    const sig = b64decode(sigB64 || '');
    const id = hex(sig.slice(0, 4));
    signers.push(`${signer}+${id}`);
    if (signer === vkey.name && id === vkey.keyId) {
      const r = await ed25519Verify(vkey.pub, sig.slice(4), enc.encode(text));
      by = r.by;
      if (r.ok) ok = true; else bad = true;
    }
  }
  const lines = text.split('\n');
  const res = {
    origin: lines[0], size: Number(lines[1]), rootB64: lines[2] || '',
    signers, by, key: `${vkey.name}+${vkey.keyId}`,
  };
  res.root = res.rootB64 ? b64decode(res.rootB64) : new Uint8Array();
  if (bad) return { ...res, ok: false, reason: 'bad_signature' };
  if (!ok) return { ...res, ok: false, reason: 'not_signed_by_key' };
  if (!/^\d+$/.test(lines[1] || '') || res.root.length !== 32) return { ...res, ok: false, reason: 'malformed' };
  return { ...res, ok: true };
}

// C2SP tlog-tiles: the path of tile N at level L (or "entries"), width W.
export function tilePath(level, n, width = 256) {
  const digits = [];
  let x = n;
  do { digits.push(String(x % 1000).padStart(3, '0')); x = Math.floor(x / 1000); } while (x > 0);
  digits.reverse();
  const path = [...digits.slice(0, -1).map(d => `x${d}`), digits[digits.length - 1]].join('/');
  return `${level}/${path}${width === 256 ? '' : `.p/${width}`}`;
}

// An entry bundle: each entry a big-endian 16-bit length and its bytes.
export function parseBundle(bytes) {
  const out = [];
  let o = 0;
  while (o + 2 <= bytes.length) {
    const n = (bytes[o] << 8) | bytes[o + 1];
    o += 2;
    if (o + n > bytes.length) throw new Error('truncated entry bundle');
    out.push(bytes.slice(o, o + n));
    o += n;
  }
  return out;
}

export const entryText = bytes => dec.decode(bytes);
