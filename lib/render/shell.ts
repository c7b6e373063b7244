/** Small helpers for generating POSIX sh. */

/** Single-quote a value for sh: the only safe way to put text into a script. */
export function shQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

const HEREDOC_END = "CDKTF_IPVS_EOF";

/**
 * A shell function that prints fixed text. The quoted heredoc delimiter means the shell expands
 * nothing inside, so the text reaches the host byte for byte.
 */
export function textFunction(name: string, text: string): string {
  if (text.split("\n").includes(HEREDOC_END)) throw new Error(`text for ${name} contains the heredoc delimiter`);
  const body = text === "" ? ":" : `cat <<'${HEREDOC_END}'\n${text.endsWith("\n") ? text : `${text}\n`}${HEREDOC_END}`;
  return `${name}() {\n${body}\n}`;
}
