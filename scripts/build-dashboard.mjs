// Transpiles the dashboard's browser scripts into dist/. They are classic scripts, type-checked
// against the DOM by their own tsconfig (npm run typecheck); tsc cannot emit them itself because
// their types come from ../schema.ts, which the main build emits.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const source = new URL('../src/telemetry/dashboard/client/', import.meta.url);
const target = new URL('../dist/src/telemetry/dashboard/client/', import.meta.url);
mkdirSync(target, { recursive: true });
for (const name of readdirSync(source).filter((file) => file.endsWith('.ts'))) {
  const { outputText } = ts.transpileModule(readFileSync(new URL(name, source), 'utf8'), {
    fileName: name,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: true },
  });
  writeFileSync(new URL(name.replace(/\.ts$/, '.js'), target), outputText);
}
