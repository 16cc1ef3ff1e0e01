// The JSON API's reference, rendered on the server from the OpenAPI document the API serves
// (app/routes/openapi.ts): one card per tag, each operation with its parameters, body fields and
// answers. No script, nothing from elsewhere: the strict CSP holds, and the page reads at 390 px.
import type { OpenApiDocument, Operation, Schema } from '../routes/openapi.js';
import { Layout, type Assets } from './layout.js';

export interface ApiDocsProps {
  assets: Assets;
  csrf: string;
  admin: string;
  doc: OpenApiDocument;
}

type Plain = Extract<Schema, { type?: unknown }>;

/** A schema with its $ref followed (one level; the document's references are all to schemas). */
function resolve(doc: OpenApiDocument, s: Schema): { name?: string; schema: Plain } {
  if ('$ref' in s) {
    const name = s.$ref.replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    return { name, schema: target === undefined || '$ref' in target ? {} : target };
  }
  return { schema: s };
}

/** A type in a few words: "string (date-time)", "array of Client", "integer 1-1000". */
function typeWords(doc: OpenApiDocument, s: Schema): string {
  const { name, schema } = resolve(doc, s);
  if (name !== undefined) return name;
  if (schema.oneOf) return schema.oneOf.map((o) => typeWords(doc, o)).join(' or ');
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const t = Array.isArray(schema.type) ? schema.type.join(' or ') : (schema.type ?? 'any');
  if (schema.type === 'array' && schema.items) return `array of ${typeWords(doc, schema.items)}`;
  const range = schema.minimum !== undefined || schema.maximum !== undefined ? ` ${schema.minimum ?? ''}–${schema.maximum ?? ''}` : '';
  return `${t}${schema.format ? ` (${schema.format})` : ''}${range}`;
}

function Fields(p: { doc: OpenApiDocument; schema: Schema }) {
  const { name, schema } = resolve(p.doc, p.schema);
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return <p class="mono">{typeWords(p.doc, p.schema)}</p>;
  const required = new Set(schema.required ?? []);
  return (
    <>
      {name !== undefined ? <p class="muted">{name}{schema.description ? `: ${schema.description}` : ''}</p> : schema.description ? <p class="muted">{schema.description}</p> : null}
      <table class="fields">
        <thead><tr><th>Field</th><th>Type</th><th>About</th></tr></thead>
        <tbody>
          {props.map(([key, s]) => {
            const inner = resolve(p.doc, s).schema;
            return (
              <tr>
                <td class="mono">{key}{required.has(key) ? '' : <span class="muted"> (optional)</span>}</td>
                <td>{typeWords(p.doc, s)}</td>
                <td>{('description' in s ? s.description : undefined) ?? inner.description ?? ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

const opId = (o: Operation) => `op-${o.operationId}`;

function OperationCard(p: { doc: OpenApiDocument; path: string; method: string; op: Operation }) {
  const { doc, op } = p;
  const body = op.requestBody?.content['application/json']?.schema;
  const isPublic = op.security !== undefined && op.security.length === 0;
  return (
    <article class="operation" id={opId(op)} aria-labelledby={`${opId(op)}-h`}>
      <h3 id={`${opId(op)}-h`}>
        <span class={`method m-${p.method}`}>{p.method.toUpperCase()}</span> <code>/api/v1{p.path}</code>
      </h3>
      <p>
        {op.summary}
        {isPublic ? <span class="badge ok"> no token needed</span> : null}
      </p>
      {op.description ? <p class="muted">{op.description}</p> : null}
      {op.parameters && op.parameters.length > 0 ? (
        <>
          <h4>Parameters</h4>
          <table class="fields">
            <thead><tr><th>Name</th><th>In</th><th>Type</th><th>About</th></tr></thead>
            <tbody>
              {op.parameters.map((x) => (
                <tr>
                  <td class="mono">{x.name}{x.required ? '' : <span class="muted"> (optional)</span>}</td>
                  <td>{x.in}</td>
                  <td>{typeWords(doc, x.schema)}</td>
                  <td>{x.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {body !== undefined ? (
        <>
          <h4>Body (JSON){op.requestBody?.required === false ? ', optional' : ''}</h4>
          <Fields doc={doc} schema={body} />
        </>
      ) : null}
      <h4>Answers</h4>
      <ul class="answers">
        {Object.entries(op.responses).map(([code, r]) => {
          const res = '$ref' in r ? doc.components.responses[r.$ref.replace('#/components/responses/', '')] : r;
          const schema = res?.content?.['application/json']?.schema;
          return (
            <li>
              <span class={`badge ${code.startsWith('2') ? 'ok' : 'bad'}`}>{code}</span> {res?.description ?? ''}
              {schema !== undefined && code.startsWith('2') ? (
                <details>
                  <summary>Fields</summary>
                  <Fields doc={doc} schema={schema} />
                </details>
              ) : null}
            </li>
          );
        })}
      </ul>
    </article>
  );
}

export function ApiDocsPage(p: ApiDocsProps) {
  const { doc } = p;
  const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op: op as Operation })));
  return (
    <Layout title="API reference" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/api-docs">
      <section class="card" aria-labelledby="h-api">
        <h2 id="h-api">
          {doc.info.title} {doc.info.version}
          <a class="button small secondary" href="/api/v1/openapi.json" hx-boost="false">OpenAPI document (JSON)</a>
        </h2>
        <p>{doc.info.description}</p>
        <p class="hint">
          Base URL: <code>{doc.servers[0]?.url ?? '/api/v1'}</code> on this appliance. Tokens are created on the <a href="/tokens">API tokens</a> page or with <code>gatehouse token create NAME</code>.
        </p>
        <nav aria-label="Operations">
          <ul class="toc">
            {doc.tags.map((t) => (
              <li>
                <a href={`#tag-${t.name}`}>{t.description}</a>
              </li>
            ))}
          </ul>
        </nav>
      </section>
      {doc.tags.map((t) => (
        <section class="card" id={`tag-${t.name}`} aria-labelledby={`h-tag-${t.name}`}>
          <h2 id={`h-tag-${t.name}`}>{t.description}</h2>
          {ops
            .filter((o) => o.op.tags.includes(t.name))
            .map((o) => (
              <OperationCard doc={doc} path={o.path} method={o.method} op={o.op} />
            ))}
        </section>
      ))}
    </Layout>
  );
}
