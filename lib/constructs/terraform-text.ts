/**
 * Terraform reads every string in its JSON configuration as a template: "${" and "%{" start
 * expressions. Script text must reach the host byte for byte, so escape both.
 */
export function escapeTerraformTemplate(text: string): string {
  // Function replacers: in a replacement string "$$" would itself mean "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/**
 * A cdktf string token as it appears inside a JS string before synthesis (`${TfToken[TOKEN.12]}`).
 * Mirrors cdktf's own encoding (BEGIN_STRING_TOKEN_MARKER, VALID_KEY_CHARS).
 */
const STRING_TOKEN = /(\$\{TfToken\[[a-zA-Z0-9:._-]+\]\})/;

/**
 * Escapes the literal text of a prop that may also hold cdktf tokens: the tokens stay references
 * (Terraform resolves them), while "${" or "%{" typed as text reach Terraform as literal text.
 * A string without tokens is escaped whole, like escapeTerraformTemplate.
 */
export function escapeTerraformLiterals(text: string): string {
  return text
    .split(STRING_TOKEN)
    .map((part, i) => (i % 2 === 1 ? part : escapeTerraformTemplate(part)))
    .join("");
}
