/** What the ipvsadm and iptables readers share: walking an argument list, and safe table lookups. */

/** A table lookup that never reaches Object.prototype ("constructor" is not an option). */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** An argument list read front to back; a missing option value becomes a problem, not a crash. */
export class ArgList {
  private pos = 0;
  readonly problems: string[] = [];

  constructor(private readonly args: readonly string[]) {}

  /** The next argument, consumed; undefined at the end. */
  next(): string | undefined {
    return this.pos < this.args.length ? this.args[this.pos++] : undefined;
  }

  /** The next argument without consuming it. */
  peek(): string | undefined {
    return this.args[this.pos];
  }

  /** The value of option `option`, consumed; records "`option` needs a value" when there is none. */
  value(option: string): string | undefined {
    const v = this.next();
    if (v === undefined) this.problems.push(`${option} needs a value`);
    return v;
  }
}
