import { runServiceMain } from '@orderly/platform';
import { notificationService } from './service.js';

void runServiceMain(notificationService);
