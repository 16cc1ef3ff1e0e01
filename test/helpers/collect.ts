// Everything an async iterable yields, as an array (Array.fromAsync is Node 22's).
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
