/**
 * Format config bytes the way `lspci -xx` prints them ("00: 48 43 ..."),
 * so a test or a student can compare our device with the kernel doc line by
 * line. `lines` defaults to 4 (64 bytes, what -xx shows).
 */
export function lspciHexDump(bytes: Uint8Array, lines = 4): string {
  const out: string[] = [];
  for (let line = 0; line < lines && line * 16 < bytes.length; line++) {
    const row: string[] = [];
    for (let i = 0; i < 16 && line * 16 + i < bytes.length; i++) {
      row.push(bytes[line * 16 + i].toString(16).padStart(2, '0'));
    }
    out.push(`${(line * 16).toString(16).padStart(2, '0')}: ${row.join(' ')}`);
  }
  return out.join('\n');
}
