package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// KernelBTFPath is where the running kernel exposes its BTF.
const KernelBTFPath = "/sys/kernel/btf/vmlinux"

// KernelBTFFuncs returns the names of the functions in the running kernel's
// BTF. It scans the raw type section for BTF_KIND_FUNC entries instead of
// decoding every type, which keeps `bpfboxc check` fast (a few milliseconds
// rather than a full BTF decode).
func KernelBTFFuncs() (map[string]bool, error) {
	data, err := os.ReadFile(KernelBTFPath)
	if err != nil {
		return nil, fmt.Errorf("read kernel BTF: %w", err)
	}
	return btfFuncNames(data)
}

var errBadBTF = errors.New("malformed BTF")

// btfFuncNames lists the names of the BTF_KIND_FUNC types of a raw BTF blob.
func btfFuncNames(data []byte) (map[string]bool, error) {
	if len(data) < 24 {
		return nil, errBadBTF
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch {
	case bo.Uint16(data) == 0xeb9f:
	case binary.BigEndian.Uint16(data) == 0xeb9f:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: bad magic", errBadBTF)
	}
	hdrLen := uint64(bo.Uint32(data[4:]))
	typeOff, typeLen := uint64(bo.Uint32(data[8:])), uint64(bo.Uint32(data[12:]))
	strOff, strLen := uint64(bo.Uint32(data[16:])), uint64(bo.Uint32(data[20:]))
	size := uint64(len(data))
	if hdrLen < 24 || hdrLen+typeOff+typeLen > size || hdrLen+strOff+strLen > size {
		return nil, fmt.Errorf("%w: sections out of bounds", errBadBTF)
	}
	types := data[hdrLen+typeOff : hdrLen+typeOff+typeLen]
	strs := data[hdrLen+strOff : hdrLen+strOff+strLen]
	out := make(map[string]bool, 1<<16)
	for off := 0; off+12 <= len(types); {
		nameOff := bo.Uint32(types[off:])
		info := bo.Uint32(types[off+4:])
		vlen := int(info & 0xffff)
		kind := (info >> 24) & 0x1f
		off += 12
		switch kind {
		case 1, 14, 17: // int, var, decl_tag
			off += 4
		case 3: // array
			off += 12
		case 4, 5, 15, 19: // struct, union, datasec, enum64
			off += 12 * vlen
		case 6, 13: // enum, func_proto
			off += 8 * vlen
		case 2, 7, 8, 9, 10, 11, 16, 18: // no trailing data
		case 12: // func
			if name := cString(strs, nameOff); name != "" {
				out[name] = true
			}
		default:
			return nil, fmt.Errorf("%w: unknown kind %d", errBadBTF, kind)
		}
	}
	return out, nil
}

func cString(strs []byte, off uint32) string {
	if int(off) >= len(strs) {
		return ""
	}
	s := strs[off:]
	for i, c := range s {
		if c == 0 {
			return string(s[:i])
		}
	}
	return ""
}
