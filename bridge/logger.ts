/**
 * Structured logging with pino: JSON lines, or readable lines on a terminal. Lines are written on
 * this thread through a LogSink, so a log pipe whose reader stops reading or goes away can neither
 * crash nor stall the bridge, and nothing holds up its exit.
 */
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { BridgeConfig } from './config.js';
import { LogSink } from './log-sink.js';

export type { Logger };

/** Creates the bridge logger for the configured level and format, writing to `stream` (default stdout). */
export function createLogger(config: Pick<BridgeConfig, 'logLevel' | 'logFormat'>, stream?: Writable): Logger {
  const out = stream ?? process.stdout;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && tty);
  const format = pretty ? prettyFactory({ colorize: tty, ignore: 'name', translateTime: 'HH:MM:ss.l', singleLine: true }) : undefined;
  const sink = new LogSink(out, format);
  const logger = pino({ name: 'pagecall', level: config.logLevel, base: undefined }, sink);
  sink.onCaughtUp = (dropped) => logger.warn({ dropped }, `${dropped} log lines dropped while the log output was not being read`);
  return logger;
}
