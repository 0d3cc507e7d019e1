/** The CLI's two streams: results on stdout, progress, summaries and errors on stderr. */
export const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};
export const err = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
