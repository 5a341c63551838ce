import { describe, expect, it } from '@jest/globals';
import { zipSync, strToU8 } from 'fflate';
import { JobFailure } from '../../../src/jobs/types.js';
import { classifyJobError } from '../../../src/jobs/job-error.js';
import { openProvisioningZip } from '../../../src/sync/course-refresh.js';

function failureOf(fn: () => unknown): JobFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof JobFailure) return err;
    throw err;
  }
  throw new Error('expected a JobFailure');
}

describe('an unreadable provisioning report', () => {
  it('a file that is not a zip fails the job with report_unreadable, not canvas_unreachable', () => {
    const f = failureOf(() => openProvisioningZip(strToU8('this is not a zip')));
    expect(f.code).toBe('report_unreadable');
    expect(classifyJobError(f).code).toBe('report_unreadable');
  });

  it('a zip without courses.csv fails the job with report_unreadable', () => {
    const f = failureOf(() => openProvisioningZip(zipSync({ 'sections.csv': strToU8('canvas_section_id\n1\n') })));
    expect(f.code).toBe('report_unreadable');
  });

  it('a readable report opens', () => {
    const r = openProvisioningZip(zipSync({ 'courses.csv': strToU8('canvas_course_id,long_name\n1,A\n') }));
    expect(r.courseLines).toBe(1);
  });
});
