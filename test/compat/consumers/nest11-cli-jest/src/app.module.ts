import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuditAlertModule } from 'nestjs-audit-alert';
import { AuditStorageHealthIndicator } from 'nestjs-audit-alert/terminus';
import { AuditService } from './audit.service';
import { HealthController } from './health.controller';
import { PagerHook } from './pager.hook';

@Module({
  imports: [TerminusModule, AuditAlertModule.forRoot({ serviceName: 'consumer', thresholdMs: 0 })],
  controllers: [HealthController],
  providers: [AuditService, PagerHook, AuditStorageHealthIndicator],
})
export class AppModule {}
