/** Byte size of serialized messages and how they are packed into frames under the bridge's limit. */
import { ALONE_CHARS } from '../../protocol/limits.js';

/** UTF-8 byte length of a string (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** UTF-8 size of `text` when it could exceed `limit`, else undefined (measured only when needed). */
export function sizeIfOver(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = utf8Length(text);
  return bytes > limit ? bytes : undefined;
}

/**
 * Packs serialized messages into frames: a lone message is sent as itself, several as JSON arrays,
 * each frame kept within `maxBytes` (a message bigger than that on its own goes alone). Messages of
 * ALONE_CHARS or more always go alone, in their place in the order: the bridge passes a large
 * result through without parsing it only when it is a frame of its own.
 */
export function packFrames(messages: readonly string[], maxBytes: number): string[] {
  const count = messages.length;
  if (count === 0) return [];
  if (count === 1) return [messages[0]!];
  let chars = count + 1;
  let large = false;
  for (let i = 0; i < count; i++) {
    const length = messages[i]!.length;
    chars += length;
    if (length >= ALONE_CHARS) large = true;
  }
  if (!large && chars * 3 <= maxBytes) return ['[' + messages.join(',') + ']'];

  const frames: string[] = [];
  let batch: string[] = [];
  let batchBytes = 0;
  const close = (): void => {
    if (batch.length === 1) frames.push(batch[0]!);
    else if (batch.length > 1) frames.push('[' + batch.join(',') + ']');
    batch = [];
    batchBytes = 0;
  };
  for (let i = 0; i < count; i++) {
    const message = messages[i]!;
    if (message.length >= ALONE_CHARS) {
      close();
      frames.push(message);
      continue;
    }
    const size = utf8Length(message);
    // As an array frame: brackets, the items, and a comma between each pair.
    if (batch.length > 0 && 2 + batchBytes + size + batch.length > maxBytes) close();
    batch.push(message);
    batchBytes += size;
  }
  close();
  return frames;
}
