/** One line for the terminal: the error's code (when it has one) and message, never a stack trace. */
export function formatCliError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const first = err.message.split('\n')[0] ?? err.message;
    return typeof code === 'string' && !first.startsWith(code) ? `${code}: ${first}` : first;
  }
  return String(err);
}
