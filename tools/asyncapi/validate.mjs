// Validate AsyncAPI documents with the official parser (@asyncapi/parser, pinned in
// package-lock.json). Usage: node validate.mjs FILE...; prints one JSON line per file
// {file, diagnostics: [{severity, code, message, path}]} and exits 1 if any file has an
// error or a warning (severity 0 or 1), 0 otherwise.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, 'utf8');
  const { document, diagnostics } = await parser.parse(text, { source: file });
  const found = diagnostics.map((d) => ({
    severity: ['error', 'warning', 'information', 'hint'][d.severity] ?? String(d.severity),
    code: d.code,
    message: d.message,
    path: d.path.join('/'),
  }));
  const bad = document === undefined || diagnostics.some(
    (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
  );
  failed ||= bad;
  console.log(JSON.stringify({ file, parsed: document !== undefined, diagnostics: found }));
}
process.exit(failed ? 1 : 0);
