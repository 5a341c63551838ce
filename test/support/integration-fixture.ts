import type { Integration } from '../../src/integrations/integration.js';
import { NOT_CONNECTED } from '../../src/integrations/reasons.js';

/**
 * An integration as the repository returns it, not connected, with the product's defaults
 * (SIS ids, the Student and Teacher roles, course refresh and roster sync): for unit tests that
 * need the value, not a database row. `over` replaces any field.
 */
export function anIntegration(over: Partial<Integration> = {}): Integration {
  return {
    id: 'i1',
    name: 'U',
    canvasUrl: 'https://u.example',
    clientId: '1',
    clientSecretSet: true,
    accountId: 'self',
    courseIdType: 'sis_course_id',
    userIdType: 'sis_user_id',
    studentRoles: ['StudentEnrollment'],
    courseAdminRoles: ['TeacherEnrollment'],
    features: ['course_refresh', 'roster_sync'],
    status: NOT_CONNECTED,
    createdAt: '',
    updatedAt: '',
    ...over,
  };
}
