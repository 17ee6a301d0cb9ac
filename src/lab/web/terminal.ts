/**
 * One port's terminal (xterm.js). What the student types is handed to the
 * guest driver (which writes it to THR); what the driver reads from RBR comes
 * back through show(). The terminal itself never echoes: every character on
 * screen made the round trip through the UART.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export class PortTerminal {
  readonly term: Terminal;
  private fit = new FitAddon();

  constructor(host: HTMLElement, onInput: (text: string) => void) {
    this.term = new Terminal({
      rows: 6,
      cols: 48,
      fontSize: 18,
      fontFamily: '"DejaVu Sans Mono", "Liberation Mono", monospace',
      cursorBlink: true,
      convertEol: false,
      theme: { background: '#0f1b2d', foreground: '#e8f1ff', cursor: '#ffd166' },
    });
    this.term.loadAddon(this.fit);
    this.term.open(host);
    this.term.onData(onInput);
    this.term.write('\x1b[2m(type here: out via THR, back via RBR)\x1b[0m\r\n');
    this.resize();
  }

  resize(): void {
    try {
      this.fit.fit();
    } catch {
      // Not laid out yet (hidden card): keep the initial size.
    }
  }

  /** A byte the guest received: CR becomes CR LF and DEL erases, as a tty with ICRNL/ECHOE would show it. */
  show(byte: number): void {
    if (byte === 0x0d) this.term.write('\r\n');
    else if (byte === 0x7f || byte === 0x08) this.term.write('\b \b');
    else this.term.write(new Uint8Array([byte]));
  }

  /** Everything visible, for tests and screenshots (xterm draws rows as DOM text). */
  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n').trimEnd();
  }

  dispose(): void {
    this.term.dispose();
  }
}
