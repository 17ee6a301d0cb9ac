import type { SysfsDir } from './sysfs-node.js';

/**
 * Text in the shape of `tree --charset=ascii`, the listing the kernel doc
 * shows for /sys/devices/virtual/mtty/mtty/. Symlinks are printed as
 * `name -> target` and not descended, as tree does by default; entries are
 * sorted by name.
 */
export function formatTree(rootLabel: string, root: SysfsDir, linkIsDir: (path: string) => boolean): string {
  const lines = [rootLabel];
  let dirs = 0;
  let files = 0;
  const base = rootLabel.endsWith('/') ? rootLabel.slice(0, -1) : rootLabel;
  const walk = (d: SysfsDir, prefix: string, path: string) => {
    const entries = [...d.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    entries.forEach(([name, node], i) => {
      const last = i === entries.length - 1;
      const label = node.kind === 'link' ? `${name} -> ${node.target}` : name;
      lines.push(`${prefix}${last ? '`-- ' : '|-- '}${label}`);
      if (node.kind === 'dir') {
        dirs++;
        walk(node, prefix + (last ? '    ' : '|   '), `${path}/${name}`);
      } else if (node.kind === 'link' && linkIsDir(`${path}/${name}`)) {
        dirs++;
      } else {
        files++;
      }
    });
  };
  walk(root, '', base);
  lines.push('', `${dirs} ${dirs === 1 ? 'directory' : 'directories'}, ${files} ${files === 1 ? 'file' : 'files'}`);
  return lines.join('\n') + '\n';
}
