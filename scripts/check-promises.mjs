#!/usr/bin/env node
// What `tsc` lets through about promises, and what an asynchronous store makes easy to get wrong:
// a promise nobody awaits (its write may not have happened, and its rejection ends the process),
// a promise tested as a condition (always true: `if (!mayChange(s))` would let everyone through),
// and an async callback given to an array method (filter keeps everything, forEach awaits nothing).
// Run by `npm run typecheck`; exits 1 with one line per finding.
//
// A promise is handled when it is awaited, returned, passed on, assigned, marked `void`, or ends
// in `.catch(...)` or a two-argument `.then(...)` (a `.finally(...)` after either).
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
const checker = program.getTypeChecker();

const isPromise = (t) => (t.isUnion() ? t.types.some(isPromise) : t.getSymbol()?.getName() === 'Promise');
const promiseAt = (e) => e !== undefined && !ts.isAwaitExpression(e) && isPromise(checker.getTypeAtLocation(e));
const handled = (e) => {
  if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return false;
  const m = e.expression.name.text;
  if (m === 'finally') return handled(e.expression.expression);
  return m === 'catch' || (m === 'then' && e.arguments.length >= 2);
};
const ARRAY_METHODS = new Set(['filter', 'map', 'some', 'every', 'find', 'findIndex', 'reduce', 'forEach', 'sort', 'flatMap']);

const findings = [];
for (const sf of program.getSourceFiles()) {
  if (sf.isDeclarationFile || sf.fileName.includes('node_modules')) continue;
  const say = (n, what) => {
    const { line } = sf.getLineAndCharacterOfPosition(n.getStart());
    findings.push(`${relative(root, sf.fileName)}:${line + 1}: ${what}: ${n.getText().split('\n')[0].slice(0, 100)}`);
  };
  const visit = (n) => {
    if (ts.isExpressionStatement(n)) {
      const e = n.expression;
      const assignment = ts.isBinaryExpression(e) && e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && e.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
      if (!assignment && !ts.isVoidExpression(e) && !handled(e) && promiseAt(e)) say(n, 'a promise nobody awaits (await it, or mark it `void` and handle its rejection)');
    }
    if (ts.isPrefixUnaryExpression(n) && n.operator === ts.SyntaxKind.ExclamationToken && promiseAt(n.operand)) say(n, 'a promise negated (always false)');
    if ((ts.isIfStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n)) && promiseAt(n.expression)) say(n.expression, 'a promise as a condition (always true)');
    if (ts.isConditionalExpression(n) && promiseAt(n.condition)) say(n.condition, 'a promise as a condition (always true)');
    if (ts.isBinaryExpression(n) && (n.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken || n.operatorToken.kind === ts.SyntaxKind.BarBarToken) && promiseAt(n.left)) say(n.left, 'a promise as a condition (always true)');
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && ARRAY_METHODS.has(n.expression.name.text)) {
      const cb = n.arguments[0];
      const on = checker.getTypeAtLocation(n.expression.expression);
      if (cb !== undefined && (ts.isArrowFunction(cb) || ts.isFunctionExpression(cb)) && cb.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) && checker.isArrayLikeType(on) && n.expression.name.text !== 'map') {
        say(n, `an async callback to ${n.expression.name.text} (it gets promises, not answers)`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
for (const f of findings) process.stderr.write(`${f}\n`);
process.exit(findings.length === 0 ? 0 : 1);
