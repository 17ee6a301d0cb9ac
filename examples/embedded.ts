/**
 * Using mtty without the daemon, from your own program. Two levels:
 *
 *  1. The library (what the walk-through uses): loadMtty() gives the mdev bus,
 *     the parent and a sysfs facade; an MdevDevice opens to a VfioDevice; the
 *     guest model (src/guest) can drive it like a Linux guest would.
 *  2. The control operations in-process: MttyService + InProcessClient answer
 *     exactly what the daemon answers over its socket (same op names, same
 *     JSON results, same MttyError codes), which is what `mtty <verb> --embedded`
 *     runs for one command.
 *
 *   node dist/examples/embedded.js
 */
import { pathToFileURL } from 'node:url';
import { loadMtty, GuestMachine } from 'mtty';
import { InProcessClient, MttyService } from 'mtty/control';

export async function embeddedDemo(write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  // Level 1: library + guest model.
  const mtty = await loadMtty({ profile: 'mtty' });
  const mdev = mtty.parent.type('mtty-1')!.create();
  const dev = mdev.open();
  const guest = new GuestMachine();
  const { ttys } = guest.attach(dev);
  ttys[0].open();
  const echo = ttys[0].read(2);
  ttys[0].write('hi');
  write(`library: ${mdev.uuid} echoed ${JSON.stringify(new TextDecoder().decode(await echo))}\n`);
  guest.detach(dev);
  dev.close();
  await mdev.remove();

  // Level 2: the daemon's operations, in this process, on the same library instance.
  const client = new InProcessClient(await MttyService.start({ library: mtty }));
  const { uuid } = await client.call<{ uuid: string }>('create', { type: 'mtty-2' });
  const { lines } = await client.call<{ lines: string[] }>('setserial', { uuid });
  write(`ops: ${uuid}\n${lines.join('\n')}\n`);
  await client.call('remove', { uuid });
  await client.close();
  await mtty.unload();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  embeddedDemo().catch((e) => {
    process.stderr.write(`embedded demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
