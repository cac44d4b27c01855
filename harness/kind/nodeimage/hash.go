package nodeimage

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

type shortHash struct{ hash.Hash }

func newHash() shortHash { return shortHash{sha256.New()} }

// short is the first ten hex digits of the sum: enough to tell builds apart.
func (h shortHash) short() string { return hex.EncodeToString(h.Sum(nil))[:10] }
