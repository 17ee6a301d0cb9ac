/** What every `mtty` verb implements; main.ts dispatches argv[0] to one of these. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface CliCommand {
  /** One line for `mtty help`. */
  summary: string;
  /** Usage text printed on bad arguments (exit 2). */
  usage: string;
  /** Runs the verb with the arguments after it; resolves to the exit code. */
  run(argv: string[], io: CliIO): Promise<number>;
}

/** Bad usage or bad input: main.ts prints the message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
