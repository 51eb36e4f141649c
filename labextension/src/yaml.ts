// A small YAML writer for JSON values (the "Copy YAML" action): block style, strings quoted
// whenever a plain scalar could be read back as something else.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./:@+-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

export function yamlScalar(value: null | boolean | number | string): string {
  if (value === null) {
    return 'null';
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    return Number.isFinite(value)
      ? String(value)
      : JSON.stringify(String(value));
  }
  if (PLAIN.test(value) && !RESERVED.test(value) && !value.endsWith(':')) {
    return value;
  }
  return JSON.stringify(value); // a JSON string is a valid YAML double-quoted scalar
}

function key(k: string): string {
  return yamlScalar(k);
}

function isScalar(v: unknown): v is null | boolean | number | string {
  return v === null || ['boolean', 'number', 'string'].includes(typeof v);
}

function lines(value: Json, indent: string): string[] {
  if (Array.isArray(value)) {
    if (!value.length) {
      return [`${indent}[]`];
    }
    const out: string[] = [];
    for (const item of value) {
      if (isScalar(item)) {
        out.push(`${indent}- ${yamlScalar(item)}`);
      } else {
        const inner = lines(item, `${indent}  `);
        out.push(`${indent}- ${inner[0].trimStart()}`, ...inner.slice(1));
      }
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) {
      return [`${indent}{}`];
    }
    const out: string[] = [];
    for (const [k, v] of entries) {
      if (isScalar(v)) {
        out.push(`${indent}${key(k)}: ${yamlScalar(v)}`);
      } else if (Array.isArray(v) && !v.length) {
        out.push(`${indent}${key(k)}: []`);
      } else if (!Array.isArray(v) && !Object.keys(v).length) {
        out.push(`${indent}${key(k)}: {}`);
      } else {
        out.push(`${indent}${key(k)}:`, ...lines(v, `${indent}  `));
      }
    }
    return out;
  }
  return [`${indent}${yamlScalar(value as null | boolean | number | string)}`];
}

/** The value as a YAML document (ending in a newline). */
export function toYaml(value: unknown): string {
  const json = JSON.parse(JSON.stringify(value ?? null)) as Json;
  return lines(json, '').join('\n') + '\n';
}
