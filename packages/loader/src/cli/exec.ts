/** `strata exec`: run a command with the resolved environment; exit code and signals pass through. */
import { spawn } from 'node:child_process';
import { EXIT } from './exit-codes.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function runChild(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: 'inherit' });
    const handlers = FORWARDED.map((sig) => {
      const h = () => child.kill(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    const done = (code: number) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(
        `strata exec: cannot run '${cmd}': ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`,
      );
      done(err.code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.CANNOT_EXECUTE);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        // re-raise so our parent sees the same signal; fall back to 128+n
        const n =
          ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGKILL: 9 } as Record<string, number>)[signal] ??
          1;
        done(128 + n);
      } else done(code ?? 0);
    });
  });
}
