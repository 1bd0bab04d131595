import { describe, expect, it } from 'vitest';
import * as api from 'node-orchestrator';
import { errorClasses } from './support/error-classes.js';

const classes = errorClasses(api);

describe('error taxonomy', () => {
  it('exports one class per stable code, each with its own code and name', () => {
    const codes = classes.map(([, Class]) => new Class().code).sort();
    expect(codes).toEqual(Object.values(api.ErrorCodes).sort());
    for (const [exportName, Class] of classes) {
      const error = new Class('boom');
      expect(error.name).toBe(exportName);
      expect(error.message).toBe('boom');
      expect(error).toBeInstanceOf(api.OrchestratorError);
      expect(error).toBeInstanceOf(Error);
    }
  });

  it('matches instanceof by code, so an error from another copy of the package still matches', () => {
    const foreign = new api.QueueFullError();
    expect(foreign).toBeInstanceOf(api.QueueFullError);
    expect(foreign).not.toBeInstanceOf(api.ClosedError);
    expect({ code: 'ERR_QUEUE_FULL' }).not.toBeInstanceOf(api.QueueFullError);
  });

  it('keeps the cause', () => {
    const cause = new Error('root');
    expect(new api.AbortedError('stopped', { cause }).cause).toBe(cause);
  });
});

describe('error documentation', () => {
  it('the README errors table documents every exported error class and its code', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [exportName, Class] of classes) {
      expect(readme).toMatch(new RegExp(`\\| \`${exportName}\` +\\| \`${new Class().code}\` +\\|`));
    }
  });
});
