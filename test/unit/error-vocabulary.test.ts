import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/errors/app-error.js';
import { ERROR_HELP, messageFor } from '../../src/errors/error-codes.js';
import { REASON_CODES } from '../../src/errors/reason-codes.js';
import { ERROR_STATUS } from '../../src/http/error-status.js';
import { toSyncError } from '../../src/http/sync-error.js';
import { JobFailure } from '../../src/jobs/types.js';

describe('one error vocabulary for jobs, API and pages', () => {
  it('every connection reason has help and a status', () => {
    for (const code of REASON_CODES) {
      expect(ERROR_HELP[code]?.remedy).toEqual(expect.any(String));
      expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
    }
  });

  it('a job failure met during a synchronous call keeps its code, with the status and help of that code', () => {
    const unreadable = toSyncError(new JobFailure('report_unreadable', 'The provisioning report has no courses.csv.')) as AppError;
    expect(unreadable).toBeInstanceOf(AppError);
    expect(unreadable.code).toBe('report_unreadable');
    expect(ERROR_STATUS[unreadable.code]).toBe(502);
    expect(unreadable.help).toBe(ERROR_HELP.report_unreadable!.remedy);
    const gone = toSyncError(new JobFailure('course_not_found', 'Canvas has no course 7.')) as AppError;
    expect(gone.code).toBe('course_not_found');
    expect(ERROR_STATUS[gone.code]).toBe(404);
  });

  it('an AppError for a code without a remedy has no help unless given one', () => {
    expect(new AppError('conflict', 'x').help).toBeUndefined();
    expect(new AppError('conflict', 'x', { help: 'do y' }).help).toBe('do y');
  });

  it('a job message carries the title, the detail and the remedy', () => {
    expect(messageFor('token_invalid', 'Invalid access token.')).toBe(`${ERROR_HELP.token_invalid!.title} (Invalid access token.). ${ERROR_HELP.token_invalid!.remedy}`);
    expect(messageFor('internal', 'boom')).toBe('boom');
  });
});
