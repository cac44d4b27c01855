package awslocal

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// objectStore keeps S3's buckets in a folder: bucket b is the subfolder b,
// object k of b the file b/k, so snapshots and backups can be read with
// any tool. What S3 keeps beside an object's bytes (content type, ETag,
// checksum, user metadata) lives in .awslocal/meta/b/k.json; bucket names
// cannot start with a dot, so that folder is never a bucket. An object's
// LastModified is its file's modification time.
type objectStore struct {
	root string
	mu   sync.Mutex // one change at a time, so reads never see half a change
}

// objectMeta is what S3 keeps about an object besides its bytes.
type objectMeta struct {
	ContentType  string            `json:"contentType,omitempty"`
	ETag         string            `json:"etag"`
	ChecksumAlg  string            `json:"checksumAlgorithm,omitempty"`
	Checksum     string            `json:"checksum,omitempty"`
	UserMetadata map[string]string `json:"userMetadata,omitempty"`
}

// objectInfo is one object as List and Get see it.
type objectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
	Meta     objectMeta
}

func newObjectStore(root string) (*objectStore, error) {
	for _, d := range []string{root, filepath.Join(root, ".awslocal", "meta"), filepath.Join(root, ".awslocal", "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("awslocal: make S3 folder %s: %w", d, err)
		}
	}
	return &objectStore{root: root}, nil
}

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipv4Like   = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

// validBucket applies S3's naming rules for general purpose buckets.
func validBucket(b string) bool {
	return bucketName.MatchString(b) && !strings.Contains(b, "..") && !strings.HasPrefix(b, "xn--") &&
		!strings.HasSuffix(b, "-s3alias") && !ipv4Like.MatchString(b)
}

// keyProblem says why a key cannot be a file path here, or "" when it
// can. S3 takes any UTF-8 key; a folder on disk cannot hold empty, "." or
// ".." path segments, nor a key that is also another key's folder.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "the key is empty"
	case len(key) > 1024:
		return "the key is longer than 1024 bytes"
	case !utf8.ValidString(key) || strings.ContainsRune(key, 0):
		return "the key is not valid UTF-8"
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return "awslocal stores objects as files and cannot store a key with an empty path segment (a leading, trailing or double /)"
		case ".", "..":
			return "awslocal stores objects as files and cannot store a key with a . or .. path segment"
		}
	}
	return ""
}

func (st *objectStore) bucketDir(b string) string { return filepath.Join(st.root, b) }

func (st *objectStore) objectPath(b, k string) string {
	return filepath.Join(st.root, b, filepath.FromSlash(k))
}

func (st *objectStore) metaPath(b, k string) string {
	return filepath.Join(st.root, ".awslocal", "meta", b, filepath.FromSlash(k)+".json")
}

func (st *objectStore) bucketExists(b string) bool {
	fi, err := os.Stat(st.bucketDir(b))
	return err == nil && fi.IsDir()
}

// createBucket makes the bucket's folder; false when it already exists.
func (st *objectStore) createBucket(b string) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.bucketExists(b) {
		return false, nil
	}
	return true, os.Mkdir(st.bucketDir(b), 0o755)
}

var errBucketNotEmpty = errors.New("bucket not empty")

func (st *objectStore) deleteBucket(b string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	entries, err := os.ReadDir(st.bucketDir(b))
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return errBucketNotEmpty
	}
	_ = os.RemoveAll(filepath.Join(st.root, ".awslocal", "meta", b))
	return os.Remove(st.bucketDir(b))
}

// written is what putting an object's bytes measured.
type written struct {
	size      int64
	md5       []byte
	sha256hex string
	sums      map[string]string // checksum algorithm → base64 value
}

// crc64NVME is the NVMe CRC-64 polynomial, bit-reversed as hash/crc64
// wants it.
const crc64NVME = 0x9a6c9329ac4bc9b5

// checksumHash returns the hash behind an S3 checksum algorithm.
func checksumHash(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		return crc64.New(crc64.MakeTable(crc64NVME))
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	case "SHA512":
		return sha512.New()
	}
	return nil
}

// put writes an object atomically: the bytes go to a temporary file while
// every hash is taken, check decides from the measurements whether the
// upload is whole, and only then does the file replace the key's.
func (st *objectStore) put(b, k string, body io.Reader, algs []string, check func(written) error, meta objectMeta, modified time.Time) (written, error) {
	tmp, err := os.CreateTemp(filepath.Join(st.root, ".awslocal", "tmp"), "put-")
	if err != nil {
		return written{}, err
	}
	defer os.Remove(tmp.Name())
	md5h, shah := md5.New(), sha256.New()
	writers := []io.Writer{tmp, md5h, shah}
	hashes := map[string]hash.Hash{}
	for _, a := range algs {
		if h := checksumHash(a); h != nil {
			hashes[a] = h
			writers = append(writers, h)
		}
	}
	n, err := io.Copy(io.MultiWriter(writers...), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return written{}, err
	}
	wr := written{size: n, md5: md5h.Sum(nil), sha256hex: hex.EncodeToString(shah.Sum(nil)), sums: map[string]string{}}
	for a, h := range hashes {
		wr.sums[a] = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	if err := check(wr); err != nil {
		return wr, err
	}
	meta.ETag = `"` + hex.EncodeToString(wr.md5) + `"`
	if len(algs) > 0 {
		meta.ChecksumAlg, meta.Checksum = algs[0], wr.sums[algs[0]]
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.bucketExists(b) {
		return wr, errNoBucket
	}
	path := st.objectPath(b, k)
	if err := st.makeParents(b, k); err != nil {
		return wr, err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return wr, &keyConflict{fmt.Sprintf("awslocal stores objects as files: %q is already a folder holding other keys", k)}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return wr, err
	}
	if err := os.Chtimes(path, modified, modified); err != nil {
		return wr, err
	}
	mp := st.metaPath(b, k)
	if err := os.MkdirAll(filepath.Dir(mp), 0o755); err != nil {
		return wr, err
	}
	mb, _ := json.Marshal(meta)
	if err := os.WriteFile(mp+".tmp", mb, 0o644); err != nil {
		return wr, err
	}
	return wr, os.Rename(mp+".tmp", mp)
}

var errNoBucket = errors.New("no such bucket")

// keyConflict is a key the folder layout cannot hold.
type keyConflict struct{ msg string }

func (e *keyConflict) Error() string { return e.msg }

// makeParents makes the folders above a key, refusing when one of them is
// already an object's file.
func (st *objectStore) makeParents(b, k string) error {
	dir := st.bucketDir(b)
	segs := strings.Split(k, "/")
	for i, seg := range segs[:len(segs)-1] {
		dir = filepath.Join(dir, seg)
		fi, err := os.Stat(dir)
		switch {
		case err == nil && !fi.IsDir():
			return &keyConflict{fmt.Sprintf("awslocal stores objects as files: %q is already an object, so it cannot hold %q", strings.Join(segs[:i+1], "/"), k)}
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		}
	}
	return nil
}

// stat describes an object; fs.ErrNotExist when there is none.
func (st *objectStore) stat(b, k string) (objectInfo, error) {
	fi, err := os.Stat(st.objectPath(b, k))
	if err != nil {
		return objectInfo{}, err
	}
	if fi.IsDir() {
		return objectInfo{}, fs.ErrNotExist
	}
	info := objectInfo{Key: k, Size: fi.Size(), Modified: fi.ModTime().UTC()}
	if mb, err := os.ReadFile(st.metaPath(b, k)); err == nil {
		_ = json.Unmarshal(mb, &info.Meta)
	}
	return info, nil
}

// etag returns the object's ETag, hashing a file put in place by hand.
func (st *objectStore) etag(b string, info objectInfo) string {
	if info.Meta.ETag != "" {
		return info.Meta.ETag
	}
	f, err := os.Open(st.objectPath(b, info.Key))
	if err != nil {
		return `""`
	}
	defer f.Close()
	h := md5.New()
	_, _ = io.Copy(h, f)
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

// open opens an object for reading.
func (st *objectStore) open(b, k string) (*os.File, objectInfo, error) {
	info, err := st.stat(b, k)
	if err != nil {
		return nil, info, err
	}
	f, err := os.Open(st.objectPath(b, k))
	return f, info, err
}

// remove deletes an object and the folders it leaves empty.
func (st *objectStore) remove(b, k string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	path := st.objectPath(b, k)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return nil // deleting what is not there succeeds, as on S3
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	_ = os.Remove(st.metaPath(b, k))
	for dir := filepath.Dir(path); dir != st.bucketDir(b) && strings.HasPrefix(dir, st.bucketDir(b)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty
		}
	}
	return nil
}

// list returns every object of the bucket, sorted by key.
func (st *objectStore) list(b string) ([]objectInfo, error) {
	root := st.bucketDir(b)
	var out []objectInfo
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		info, err := st.stat(b, filepath.ToSlash(rel))
		if err != nil {
			return nil // removed meanwhile
		}
		out = append(out, info)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}
