/**
 * How the CLI and the preload describe an error that is not a StrataError (a bug, or a library's
 * error Strata did not map). Such a message can say anything, including text it was parsing (a
 * YAML alias name, a JSON fragment, a value), so only its class and code are printed. Its message
 * is shown only when the user asks for it with STRATA_DEBUG=1.
 */
export function describeForeignError(e: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const name = e instanceof Error ? e.name : typeof e;
  const code = (e as { code?: unknown } | null)?.code;
  const what = `${name}${typeof code === 'string' ? ` ${code}` : ''}`;
  if (env.STRATA_DEBUG === '1') {
    const message = e instanceof Error ? e.message : String(e);
    return `unexpected error (${what}): ${message.slice(0, 500)}`;
  }
  return `unexpected error (${what}); its message is not shown as it may quote input: set STRATA_DEBUG=1 to see it`;
}
