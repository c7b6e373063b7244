/**
 * Everything the CLI prints goes through escapeControls: file names, host names, option values,
 * JSON parse messages, model messages and what a host answered over SSH all come from outside,
 * and none of it may drive the terminal (clear the screen, move the cursor, retitle the window,
 * hide text with bidi overrides).
 */
import { printable } from "../model/errors";

/**
 * Escapes, line by line, what a terminal must not receive: C0 controls except \n and \t, DEL,
 * C1 controls (U+0080–U+009F, incl. U+009B CSI and U+0085 NEL), U+2028/U+2029, the bidi
 * controls (U+202A–U+202E, U+2066–U+2069, LRM/RLM/ALM) and lone surrogates, each as a visible
 * `\uXXXX` (ESC → `\u001b`). The per-piece escaping is the model's printable(), without its cut.
 */
export function escapeControls(text: string): string {
  return String(text)
    .split("\n")
    .map((line) =>
      line
        .split("\t")
        .map((piece) => printable(piece, Number.POSITIVE_INFINITY))
        .join("\t"),
    )
    .join("\n");
}

/** Where the CLI prints; tests pass collectors. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The same Io, with every line passed through escapeControls. */
export function safeIo(io: Io): Io {
  return { out: (t) => io.out(escapeControls(String(t))), err: (t) => io.err(escapeControls(String(t))) };
}
