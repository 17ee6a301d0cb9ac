/**
 * How the kernel's vfio read()/write() handlers cut one request into device
 * accesses: at each position take the widest naturally aligned access
 * (4, then 2, then 1 bytes) that still fits in what is left. mtty's
 * mtty_read()/mtty_write() do exactly this, so a 3-byte read at offset 1
 * becomes a 1-byte access at 1 and a 2-byte access at 2.
 */
/** One access of alignedChunks(): device-fd position, width in bytes, index in the caller's buffer. */
export interface AlignedChunk {
  /** Device-fd position of this access. */
  pos: number;
  size: 1 | 2 | 4;
  /** Index of the first byte of this chunk inside the caller's buffer. */
  index: number;
}

/**
 * Cut a read()/write() of `length` bytes at device-fd position `pos` into
 * naturally aligned 4/2/1-byte accesses, widest first, as the kernel's
 * mtty_read()/mtty_write() loop does (samples/vfio-mdev/mtty.c).
 */
export function alignedChunks(pos: number, length: number): AlignedChunk[] {
  const chunks: AlignedChunk[] = [];
  let done = 0;
  while (done < length) {
    const at = pos + done;
    const left = length - done;
    let size: 1 | 2 | 4 = 1;
    if (left >= 4 && at % 4 === 0) size = 4;
    else if (left >= 2 && at % 2 === 0) size = 2;
    chunks.push({ pos: at, size, index: done });
    done += size;
  }
  return chunks;
}
