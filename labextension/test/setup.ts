// Times in the tests are read in UTC.
process.env.TZ = 'UTC';
