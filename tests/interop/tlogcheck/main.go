// Command tlogcheck verifies a yagura tower's transparency log with Go's
// golang.org/x/mod/sumdb/note and sumdb/tlog, as Debian packages them
// (golang-golang-x-mod-dev): a verifier nobody at yagura wrote.
//
// It checks, against the verifier key it is given and nothing the tower
// says about itself:
//
//   - GET /log/key serves that key;
//   - every checkpoint (the -cp files, oldest first, then the one
//     GET /log/checkpoint serves) opens with note.Open under the key, names
//     the key's origin, and parses as a tree;
//   - every entry, read from the entry bundles, is in every checkpoint's
//     tree that is large enough to hold it: tlog.ProveRecord over the
//     tower's hash tiles, then tlog.CheckRecord against the signed root;
//   - each checkpoint's tree is a prefix of the next: tlog.ProveTree over
//     the tiles, then tlog.CheckTree against both signed roots;
//   - the tower's own JSON proofs (/api/v1/log/inclusion, /consistency)
//     pass the same CheckRecord and CheckTree.
//
// The hash tiles are read by a plain tlog.HashReader that trusts nothing it
// reads: a hash the tower altered makes a proof that CheckRecord or
// CheckTree rejects against the signed root. (x/mod 0.7.0's TileHashReader
// is not used: its parent check does not authenticate every full tile.)
//
// -forge makes each checkpoint a forgery before it is opened, so that a
// test can see note.Open refuse it:
//
//	otherkey  the text signed by a key generated here, of the same name
//	relabel   that signature presented under the tower key's hash
//	text      the tower's signature over a text with another root
//
// -genkey NAME prints a new verifier key for NAME and exits.
//
// One line a failure on stdout, then a summary; exit status 0 when every
// check passed, 1 when one failed, 2 for a usage error.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// C2SP tlog-tiles: tiles of height 8, 256 hashes or entries a full tile.
const tileHeight = 8

var failures int

func fail(format string, args ...interface{}) {
	failures++
	fmt.Printf("FAIL: "+format+"\n", args...)
}

// ---- the tower over HTTP ----------------------------------------------

type tower struct {
	url   string
	token string
	http  *http.Client
}

// do answers the body of a 200 to method path (with the bearer token when
// auth), or an error naming the path and the status.
func (tw *tower) do(method, path string, auth bool) ([]byte, error) {
	req, err := http.NewRequest(method, tw.url+path, nil)
	if err != nil {
		return nil, err
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+tw.token)
	}
	resp, err := tw.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, body)
	}
	return body, nil
}

// tilePath maps Go's tile coordinates to the tower's C2SP path: Go writes
// tile/H/L/N[.p/W] and tile/H/data/N for entries, C2SP has no height
// element and calls the entries' level "entries".
func tilePath(t tlog.Tile) string {
	f := strings.SplitN(t.Path(), "/", 4) // tile, H, L, N[.p/W]
	if len(f) != 4 || f[1] != strconv.Itoa(tileHeight) {
		panic("tlogcheck: unexpected Go tile path " + t.Path())
	}
	if f[2] == "data" {
		f[2] = "entries"
	}
	return "/log/tile/" + f[2] + "/" + f[3]
}

// ---- a HashReader over the hash tiles ----------------------------------

// tileReader reads stored hashes from the tower's hash tiles as of a tree
// of the given size, each tile fetched once, as wide as that tree allows.
// It authenticates nothing: proofs built from what it reads are checked
// against signed roots.
type tileReader struct {
	tw    *tower
	size  int64
	tiles map[tlog.Tile][]byte
	reads int
}

func (r *tileReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		t := tlog.TileForIndex(tileHeight, x)
		// The widest tile at that tree size: hashes at the tile's bottom
		// level L*8 number size >> (L*8).
		w := (r.size >> uint(t.L*tileHeight)) - t.N<<tileHeight
		if w > 1<<tileHeight {
			w = 1 << tileHeight
		}
		if w < int64(t.W) {
			return nil, fmt.Errorf("stored hash %d is beyond the tree of size %d", x, r.size)
		}
		t.W = int(w)
		data, ok := r.tiles[t]
		if !ok {
			var err error
			if data, err = r.tw.do("GET", tilePath(t), true); err != nil {
				return nil, err
			}
			if len(data) != t.W*tlog.HashSize {
				return nil, fmt.Errorf("%s: %d bytes, wanted %d", tilePath(t), len(data), t.W*tlog.HashSize)
			}
			r.tiles[t] = data
			r.reads++
		}
		h, err := tlog.HashFromTile(t, data, x)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// entries reads entries [0, size) from the entry bundles: each entry a
// big-endian uint16 length and that many bytes, a full bundle 256 of them.
func entries(tw *tower, size int64) ([][]byte, error) {
	var all [][]byte
	for n := int64(0); n<<tileHeight < size; n++ {
		w := size - n<<tileHeight
		if w > 1<<tileHeight {
			w = 1 << tileHeight
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: n, W: int(w)}
		b, err := tw.do("GET", tilePath(t), true)
		if err != nil {
			return nil, err
		}
		for k := int64(0); k < w; k++ {
			if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
				return nil, fmt.Errorf("%s: truncated at entry %d", tilePath(t), k)
			}
			l := int(binary.BigEndian.Uint16(b))
			all = append(all, b[2:2+l])
			b = b[2+l:]
		}
		if len(b) != 0 {
			return nil, fmt.Errorf("%s: %d bytes after its %d entries", tilePath(t), len(b), w)
		}
	}
	return all, nil
}

// ---- checkpoints ---------------------------------------------------------

type checkpoint struct {
	what string
	tree tlog.Tree
}

// forge rewrites a signed note as -forge mode says; the tower's verifier
// must then refuse it.
func forge(msg []byte, mode string, v note.Verifier) ([]byte, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("not a signed note")
	}
	text, sigs := msg[:i+1], msg[i+2:]
	switch mode {
	case "otherkey", "relabel":
		skey, _, err := note.GenerateKey(rand.Reader, v.Name())
		if err != nil {
			return nil, err
		}
		s, err := note.NewSigner(skey)
		if err != nil {
			return nil, err
		}
		out, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil || mode == "otherkey" {
			return out, err
		}
		// The same signature, claiming to be the tower key's.
		j := bytes.LastIndex(out, []byte(" "))
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(out[j+1:])))
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint32(sig, v.KeyHash())
		return []byte(fmt.Sprintf("%s\n\u2014 %s %s\n", text, v.Name(),
			base64.StdEncoding.EncodeToString(sig))), nil
	case "text":
		lines := strings.SplitN(string(text), "\n", 4)
		if len(lines) < 4 {
			return nil, errors.New("not a checkpoint")
		}
		h, err := tlog.ParseHash(lines[2])
		if err != nil {
			return nil, err
		}
		h[0] ^= 1
		lines[2] = h.String()
		return append([]byte(strings.Join(lines, "\n")+"\n"), sigs...), nil
	}
	return nil, fmt.Errorf("unknown -forge mode %q", mode)
}

// open verifies a checkpoint's signature under v and parses its tree. A
// C2SP checkpoint's first line is the log's origin where Go's tree note
// has "go.sum database tree"; the rest (size, root, extension lines) is
// the same, so the origin is checked here and the rest parsed by
// tlog.ParseTree.
func open(what string, msg []byte, v note.Verifier) (checkpoint, bool) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("%s: note.Open: %v", what, err)
		return checkpoint{}, false
	}
	origin, rest, _ := strings.Cut(n.Text, "\n")
	if origin != v.Name() {
		fail("%s: origin %q, the key is for %q", what, origin, v.Name())
		return checkpoint{}, false
	}
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + rest))
	if err != nil {
		fail("%s: tlog.ParseTree: %v", what, err)
		return checkpoint{}, false
	}
	return checkpoint{what, tree}, true
}

// ---- the tower's JSON proofs ----------------------------------------------

func hashes(b64 []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

func checkJSONInclusion(tw *tower, cp checkpoint, i int64, entry []byte) {
	var a struct {
		Index, Size int64
		LeafHash    string `json:"leaf_hash"`
		Entry       string
		Proof       []string
	}
	what := fmt.Sprintf("JSON inclusion of entry %d in %s", i, cp.what)
	b, err := tw.do("GET", fmt.Sprintf("/api/v1/log/inclusion?index=%d&size=%d", i, cp.tree.N), true)
	if err == nil {
		err = json.Unmarshal(b, &a)
	}
	if err != nil {
		fail("%s: %v", what, err)
		return
	}
	p, err := hashes(a.Proof)
	if err != nil || a.Index != i || a.Size != cp.tree.N || a.Entry != string(entry) ||
		a.LeafHash != tlog.RecordHash(entry).String() {
		fail("%s: not the entry the bundle has, or malformed: %s", what, b)
		return
	}
	if err := tlog.CheckRecord(p, cp.tree.N, cp.tree.Hash, i, tlog.RecordHash(entry)); err != nil {
		fail("%s: tlog.CheckRecord: %v", what, err)
	}
}

func checkJSONConsistency(tw *tower, old, cur checkpoint) {
	var a struct {
		From, To int64
		Proof    []string
	}
	what := fmt.Sprintf("JSON consistency of %s with %s", old.what, cur.what)
	b, err := tw.do("GET", fmt.Sprintf("/api/v1/log/consistency?from=%d&to=%d", old.tree.N, cur.tree.N), true)
	if err == nil {
		err = json.Unmarshal(b, &a)
	}
	if err != nil {
		fail("%s: %v", what, err)
		return
	}
	p, err := hashes(a.Proof)
	if err != nil || a.From != old.tree.N || a.To != cur.tree.N {
		fail("%s: malformed: %s", what, b)
		return
	}
	if err := tlog.CheckTree(p, cur.tree.N, cur.tree.Hash, old.tree.N, old.tree.Hash); err != nil {
		fail("%s: tlog.CheckTree: %v", what, err)
	}
}

// ---- main ------------------------------------------------------------------

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	var cps files
	url := flag.String("url", "", "the tower, http://host:port")
	token := flag.String("token", "", "an auditor's or overseer's bearer token")
	vkey := flag.String("vkey", "", "the log's verifier key, name+hash+base64")
	mode := flag.String("forge", "", "forge each checkpoint: otherkey, relabel or text")
	genkey := flag.String("genkey", "", "print a new verifier key for this name and exit")
	flag.Var(&cps, "cp", "a saved checkpoint note (repeat, oldest first)")
	flag.Parse()

	if *genkey != "" {
		_, v, err := note.GenerateKey(rand.Reader, *genkey)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tlogcheck:", err)
			os.Exit(2)
		}
		fmt.Println(v)
		return
	}
	if *url == "" || *token == "" || *vkey == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck -url URL -token TOKEN -vkey KEY [-cp FILE]... [-forge MODE]")
		os.Exit(2)
	}
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tlogcheck: -vkey: %v\n", err)
		os.Exit(2)
	}
	tw := &tower{url: strings.TrimRight(*url, "/"), token: *token,
		http: &http.Client{Timeout: 30 * time.Second}}
	os.Exit(run(tw, v, *vkey, cps, *mode))
}

func run(tw *tower, v note.Verifier, vkey string, cps files, mode string) int {
	start := time.Now()
	if b, err := tw.do("GET", "/log/key", false); err != nil {
		fail("the served key: %v", err)
	} else if strings.TrimSpace(string(b)) != vkey {
		fail("the served key %q is not the verifier key %q", strings.TrimSpace(string(b)), vkey)
	}

	var notes [][]byte
	var names []string
	for _, f := range cps {
		b, err := os.ReadFile(f)
		if err != nil {
			fail("%v", err)
			continue
		}
		notes, names = append(notes, b), append(names, "checkpoint "+f)
	}
	if b, err := tw.do("GET", "/log/checkpoint", true); err != nil {
		fail("the served checkpoint: %v", err)
	} else {
		notes, names = append(notes, b), append(names, "the served checkpoint")
	}
	var trees []checkpoint
	for i, msg := range notes {
		if mode != "" {
			f, err := forge(msg, mode, v)
			if err != nil {
				fmt.Fprintln(os.Stderr, "tlogcheck: -forge:", err)
				return 2
			}
			msg = f
		}
		if cp, ok := open(names[i], msg, v); ok {
			trees = append(trees, cp)
		}
	}
	for i := 1; i < len(trees); i++ {
		if trees[i].tree.N < trees[i-1].tree.N {
			fail("%s (size %d) is older than %s (size %d)", trees[i].what, trees[i].tree.N,
				trees[i-1].what, trees[i-1].tree.N)
			return summary(trees, 0, 0, 0, start)
		}
	}
	if len(trees) == 0 || trees[len(trees)-1].tree.N == 0 {
		fail("no checkpoint to verify the log against")
		return summary(trees, 0, 0, 0, start)
	}

	size := trees[len(trees)-1].tree.N
	r := &tileReader{tw: tw, size: size, tiles: map[tlog.Tile][]byte{}}
	es, err := entries(tw, size)
	if err != nil {
		fail("entry bundles: %v", err)
		return summary(trees, 0, 0, 0, start)
	}
	records := 0
	for _, cp := range trees {
		if h, err := tlog.TreeHash(cp.tree.N, r); err != nil {
			fail("%s: tlog.TreeHash over the tiles: %v", cp.what, err)
		} else if h != cp.tree.Hash {
			fail("%s: the tiles hash to %v, the signed root is %v", cp.what, h, cp.tree.Hash)
		}
	}
	for i, e := range es {
		n, leaf := int64(i), tlog.RecordHash(e)
		for _, cp := range trees {
			if n >= cp.tree.N {
				continue
			}
			records++
			p, err := tlog.ProveRecord(cp.tree.N, n, r)
			if err == nil {
				err = tlog.CheckRecord(p, cp.tree.N, cp.tree.Hash, n, leaf)
			}
			if err != nil {
				fail("entry %d in %s (size %d): %v", n, cp.what, cp.tree.N, err)
			}
		}
	}
	for i := 1; i < len(trees); i++ {
		old, cur := trees[i-1], trees[i]
		p, err := tlog.ProveTree(cur.tree.N, old.tree.N, r)
		if err == nil {
			err = tlog.CheckTree(p, cur.tree.N, cur.tree.Hash, old.tree.N, old.tree.Hash)
		}
		if err != nil {
			fail("consistency of %s (size %d) with %s (size %d): %v", old.what, old.tree.N,
				cur.what, cur.tree.N, err)
		}
		checkJSONConsistency(tw, old, cur)
	}
	last := trees[len(trees)-1]
	for i, e := range es {
		checkJSONInclusion(tw, last, int64(i), e)
	}
	return summary(trees, len(es), records, r.reads, start)
}

func summary(trees []checkpoint, entries, records, tiles int, start time.Time) int {
	var sizes []string
	for _, cp := range trees {
		sizes = append(sizes, strconv.FormatInt(cp.tree.N, 10))
	}
	fmt.Printf("tlogcheck: checkpoints of sizes [%s]; %d entries, %d inclusion proofs, "+
		"%d consistency proofs, %d hash tiles read; %d failures; %.2fs\n",
		strings.Join(sizes, " "), entries, records, max(len(trees)-1, 0), tiles, failures,
		time.Since(start).Seconds())
	if failures > 0 {
		return 1
	}
	return 0
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}
