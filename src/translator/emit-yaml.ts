// Multi-document YAML output with each object's comment above it.
import { Document } from 'yaml';
import { OutputObject } from './output-object';

function commentBlock(lines: string[]): string {
  return lines.map((line) => ` ${line}`).join('\n');
}

export function emitYaml(objects: Array<OutputObject<Record<string, unknown>>>, header: string[] = []): string {
  const parts = objects.map((item, i) => {
    const document = new Document(item.object);
    const lines = i === 0 && header.length > 0 ? [...header, '', ...item.comment] : item.comment;
    if (lines.length > 0) document.commentBefore = commentBlock(lines);
    return document.toString({ lineWidth: 0 });
  });
  if (parts.length === 0) return header.length > 0 ? `${header.map((l) => `# ${l}`.trimEnd()).join('\n')}\n` : '';
  return parts.join('---\n');
}
