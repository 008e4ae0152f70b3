/**
 * A WebSocket client at the TCP level, for attacks no WebSocket library sends the way an attacker
 * would: the upgrade request, then frame headers and payloads written as raw bytes (a 32 MiB frame
 * from one preallocated buffer, without the copy a library makes to mask it). It reads what the
 * server sends back, enough to tell its close code.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A raw socket after the upgrade. */
export interface RawSocket {
  socket: Socket;
  /** Writes a frame header (FIN, the opcode, masked with a zero key) for `length` payload bytes. */
  header(length: number, opcode?: number): void;
  /** Writes payload bytes (with a zero mask key they go as they are). */
  write(bytes: Buffer): Promise<void>;
  /** Resolves with the close code of the server's close frame (null when it closed without one) once the connection is gone. */
  closed: Promise<number | null>;
}

/** Frame header bytes for a masked client frame with a zero mask key. */
export function frameHeader(length: number, opcode = 0x1, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let head: Buffer;
  if (length < 126) head = Buffer.from([first, 0x80 | length]);
  else if (length < 65_536) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4)]);
}

/** Opens the page endpoint of the bridge at `bridgeUrl` with a raw upgrade request. */
export function openRawSocket(bridgeUrl: string, origin?: string): Promise<RawSocket> {
  const url = new URL(bridgeUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let closeCode: number | null = null;
    const closed = new Promise<number | null>((done) => socket.once('close', () => done(closeCode)));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        buffered = buffered.subarray(end + 4);
        if (!/^HTTP\/1\.1 101 /.test(head)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        resolve({
          socket,
          header: (length, opcode) => void socket.write(frameHeader(length, opcode)),
          write: (bytes) => new Promise<void>((done) => socket.write(bytes, () => done())),
          closed,
        });
      }
      // Server frames are unmasked: find a close frame (opcode 8) and read its code.
      while (buffered.length >= 2) {
        const opcode = buffered[0]! & 0x0f;
        let length = buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffered.length < 4) return;
          length = buffered.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffered.length < 10) return;
          length = Number(buffered.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffered.length < offset + length) return;
        if (opcode === 0x8 && length >= 2) closeCode = buffered.readUInt16BE(offset);
        buffered = buffered.subarray(offset + length);
      }
    });
    socket.once('close', () => {
      if (!upgraded) reject(new Error('the connection closed before the upgrade'));
    });
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      const lines = [`GET /v1/ws HTTP/1.1`, `host: ${url.host}`, 'upgrade: websocket', 'connection: Upgrade', `sec-websocket-key: ${key}`, 'sec-websocket-version: 13'];
      if (origin) lines.push(`origin: ${origin}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
