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

/**
 * Text for a comment line (in a script or a config file). Construct paths and reasons can carry
 * user text that no validator saw (stack ids); a newline in it would end the comment and start a
 * line of its own, so anything but printable ASCII becomes "?".
 */
export function commentText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}
