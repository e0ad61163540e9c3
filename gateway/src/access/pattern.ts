// Patterns as IAM writes them: `*` and `?` wildcards, and policy variables such as `${aws:username}`.

/** A pattern as parsed once from the policy; variables are resolved per request. */
export type PatternPart =
  | { kind: "text"; text: string }
  | { kind: "star" }
  | { kind: "one" }
  | { kind: "variable"; key: string };

/** A pattern with every variable replaced by the request's value. */
export type ResolvedPart = Exclude<PatternPart, { kind: "variable" }>;

/** The escapes IAM defines so that a pattern can hold a literal wildcard or dollar sign. */
const LITERAL_VARIABLES = new Map([["*", "*"], ["?", "?"], ["$", "$"]]);

/**
 * Splits a policy string into parts. Wildcards count only where the element takes them (Resource, StringLike);
 * variables only under Version 2012-10-17, which is what introduced them (under 2008-10-17 `${...}` is plain text).
 */
export function compilePattern(source: string, options: { wildcards: boolean; variables: boolean }): PatternPart[] {
  const parts: PatternPart[] = [];
  let text = "";
  const flush = () => {
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
  };
  for (let index = 0; index < source.length; index++) {
    const char = source[index]!;
    if (options.variables && char === "$" && source[index + 1] === "{") {
      const close = source.indexOf("}", index + 2);
      if (close !== -1) {
        const name = source.slice(index + 2, close);
        const literal = LITERAL_VARIABLES.get(name);
        if (literal !== undefined) text += literal;
        else {
          flush();
          parts.push({ kind: "variable", key: name.trim().toLowerCase() });
        }
        index = close;
        continue;
      }
    }
    if (options.wildcards && (char === "*" || char === "?")) {
      flush();
      parts.push({ kind: char === "*" ? "star" : "one" });
      continue;
    }
    text += char;
  }
  flush();
  return parts;
}

/** A wildcard pattern that cannot hold variables (action names, bucket names). */
export function compileGlob(source: string): ResolvedPart[] {
  return compilePattern(source, { wildcards: true, variables: false }) as ResolvedPart[];
}

export function patternVariables(parts: readonly PatternPart[]): string[] {
  return parts.flatMap((part) => (part.kind === "variable" ? [part.key] : []));
}

export function hasWildcard(parts: readonly PatternPart[]): boolean {
  return parts.some((part) => part.kind === "star" || part.kind === "one");
}

/** Undefined when a variable has no single value in this request: such a pattern matches nothing. */
export function resolvePattern(parts: readonly PatternPart[], lookup: (key: string) => string | undefined): ResolvedPart[] | undefined {
  const resolved: ResolvedPart[] = [];
  for (const part of parts) {
    if (part.kind !== "variable") {
      resolved.push(part);
      continue;
    }
    const value = lookup(part.key);
    if (value === undefined) return undefined;
    resolved.push({ kind: "text", text: value });
  }
  return resolved;
}

/** The pattern's text when it holds no wildcard (after resolution), for exact comparisons. */
export function literalText(parts: readonly ResolvedPart[]): string {
  return parts.map((part) => (part.kind === "text" ? part.text : part.kind === "star" ? "*" : "?")).join("");
}

/**
 * Glob matching without backtracking blow-up: `*` spans any run (`/` included, as in IAM), `?` one character.
 * Characters are compared per UTF-16 unit, as IAM compares per character for the BMP.
 */
export function matchPattern(parts: readonly ResolvedPart[], input: string, ignoreCase = false): boolean {
  const pattern = expand(parts, ignoreCase);
  const text = ignoreCase ? input.toLowerCase() : input;
  let p = 0;
  let t = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const token = pattern[p];
    if (token !== undefined && token !== STAR && (token === ONE || token === text[t])) {
      p++;
      t++;
    } else if (token === STAR) {
      starAt = p++;
      resumeAt = t;
    } else if (starAt !== -1) {
      p = starAt + 1;
      t = ++resumeAt;
    } else return false;
  }
  while (pattern[p] === STAR) p++;
  return p === pattern.length;
}

const STAR = Symbol("star");
const ONE = Symbol("one");

function expand(parts: readonly ResolvedPart[], ignoreCase: boolean): Array<string | typeof STAR | typeof ONE> {
  return parts.flatMap((part): Array<string | typeof STAR | typeof ONE> => {
    if (part.kind === "star") return [STAR];
    if (part.kind === "one") return [ONE];
    return (ignoreCase ? part.text.toLowerCase() : part.text).split("");
  });
}
