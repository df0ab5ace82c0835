/**
 * `${...}` templates in literal env values. `${NAME}` is another variable of the same service;
 * `${name.property}` is a property of a service, database or key-value store (`${api.host}`,
 * `${db.port}`); `$$` writes a literal `$`. The syntax is the blueprint's (src/blueprint/
 * envsources.ts), so a template reads the same in both places. Pure: reports, never throws.
 */

export type TemplatePart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "var"; readonly name: string }
  | { readonly kind: "prop"; readonly target: string; readonly property: string };

export type ParsedTemplate = { readonly ok: true; readonly parts: readonly TemplatePart[] } | { readonly ok: false; readonly error: string };

const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROP = /^([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z][A-Za-z0-9_-]*)$/;

export function parseTemplate(value: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  while (i < value.length) {
    if (value.startsWith("$$", i)) {
      text += "$";
      i += 2;
      continue;
    }
    if (value.startsWith("${", i)) {
      const close = value.indexOf("}", i + 2);
      if (close < 0) return { ok: false, error: `unterminated '\${' at offset ${i}` };
      const inner = value.slice(i + 2, close).trim();
      if (text) parts.push({ kind: "text", text });
      text = "";
      const prop = PROP.exec(inner);
      if (prop) parts.push({ kind: "prop", target: prop[1]!, property: prop[2]! });
      else if (VAR.test(inner)) parts.push({ kind: "var", name: inner });
      else return { ok: false, error: `'\${${inner}}' is neither \${VARIABLE} nor \${name.property}` };
      i = close + 1;
      continue;
    }
    text += value[i];
    i++;
  }
  if (text) parts.push({ kind: "text", text });
  return { ok: true, parts };
}
