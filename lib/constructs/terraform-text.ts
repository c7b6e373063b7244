/**
 * Terraform reads every string in its JSON configuration as a template: "${" and "%{" start
 * expressions. Script text must reach the host byte for byte, so escape both.
 */
export function escapeTerraformTemplate(text: string): string {
  // Function replacers: in a replacement string "$$" would itself mean "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}
