// The file side of the create form: preview a file (or the head of a big text file) and find
// the column names to offer when detection picked the wrong phone or name column.
import { postForm, type Preview } from "../api/client";

export const ACCEPT = ".csv,.tsv,.txt,.xlsx,.xls,.ods";
const TEXT = /\.(csv|tsv|txt)$/i;

export function isText(name: string) {
  return TEXT.test(name);
}

/** The part of `file` that is previewed: all of it when it fits the inline cap, else (text
 * files only) its first lines up to the cap; `null` when a big spreadsheet cannot be cut. */
export async function previewPart(file: File, cap: number): Promise<{ blob: Blob; partial: boolean } | null> {
  if (file.size <= cap) return { blob: file, partial: false };
  if (!isText(file.name)) return null;
  const head = await file.slice(0, Math.min(cap, 1024 * 1024)).text();
  const cut = head.lastIndexOf("\n");
  return { blob: new Blob([cut > 0 ? head.slice(0, cut + 1) : head], { type: "text/plain" }), partial: true };
}

export async function preview(blob: Blob, fileName: string, phoneColumn: string, nameColumn: string): Promise<Preview> {
  const form = new FormData();
  form.append("file", blob, fileName);
  if (phoneColumn) form.append("phone_column", phoneColumn);
  if (nameColumn) form.append("name_column", nameColumn);
  return postForm<Preview>("/campaigns/preview", form);
}

/** Header names of a text file's first line (CSV with quotes, TSV, ';' or '|'). */
export async function textHeaders(file: File): Promise<string[]> {
  if (!isText(file.name)) return [];
  const head = await file.slice(0, 64 * 1024).text();
  const line = head.replace(/^\uFEFF/, "").split(/\r?\n/)[0] ?? "";
  const delim = ["\t", ";", "|", ","].map((d) => [d, line.split(d).length] as const).sort((a, b) => b[1] - a[1])[0];
  if (!delim || delim[1] < 2) return [];
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delim[0]) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out.filter((h) => h.length > 0);
}

/** The API's `no_phone_column` / `unknown_column` messages list the headers it saw. */
export function headersFromMessage(message: string): string[] {
  const m = /headers? (?:seen )?were (\[.*\])/.exec(message);
  if (!m) return [];
  try {
    const v = JSON.parse(m[1]);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}
