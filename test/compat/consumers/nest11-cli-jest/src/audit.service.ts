import { Injectable } from '@nestjs/common';
import { AuditStorageMonitor, TrackAuditWrite } from 'nestjs-audit-alert';

@Injectable()
export class AuditService {
  constructor(private readonly monitor: AuditStorageMonitor) {}

  write(insert: () => Promise<string>): Promise<string> {
    return this.monitor.track(insert);
  }

  @TrackAuditWrite()
  async record(insert: () => Promise<string>): Promise<string> {
    return insert();
  }
}
