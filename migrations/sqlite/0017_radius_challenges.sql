CREATE TABLE `radius_challenges` (
	`state` text PRIMARY KEY NOT NULL,
	`payload_sealed` blob NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `radius_challenges_expires` ON `radius_challenges` (`expires_at`);