package blob

import "time"

// SmallParts makes Put send more than putAbove bytes in parts of part
// bytes, and copies of more than copyAbove bytes go in parts of copyPart,
// until the returned func restores them.
func SmallParts(putAbove, part, copyAbove, copyPart int64) (restore func()) {
	was := [4]int64{putPartsAbove, partSize, copyPartsAbove, copyPartSize}
	putPartsAbove, partSize, copyPartsAbove, copyPartSize = putAbove, part, copyAbove, copyPart
	return func() { putPartsAbove, partSize, copyPartsAbove, copyPartSize = was[0], was[1], was[2], was[3] }
}

// SmallPresignedPut makes PresignPut refuse a blob over max bytes,
// until the returned func restores it.
func SmallPresignedPut(max int64) (restore func()) {
	was := presignPutMax
	presignPutMax = max
	return func() { presignPutMax = was }
}

// ShortCalls makes each call that moves no blob's bytes wait d at most,
// until the returned func restores it.
func ShortCalls(d time.Duration) (restore func()) {
	was := callWait
	callWait = d
	return func() { callWait = was }
}
