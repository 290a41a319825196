"""Health events in detention: self-harm, ACDT, food and fluid refusal, segregation, use of force."""
