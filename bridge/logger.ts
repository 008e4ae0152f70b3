/** Structured logging with pino: JSON lines, or readable lines on a terminal. */
import { pino, type Logger } from 'pino';
import type { BridgeConfig } from './config.js';

export type { Logger };

/** Creates the bridge logger for the configured level and format. */
export function createLogger(config: Pick<BridgeConfig, 'logLevel' | 'logFormat'>, stream?: NodeJS.WritableStream): Logger {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && !stream && process.stdout.isTTY === true);
  const options = { name: 'pagecall', level: config.logLevel, base: undefined };
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'name', translateTime: 'HH:MM:ss.l' } } });
  }
  return stream ? pino(options, stream as pino.DestinationStream) : pino(options);
}
