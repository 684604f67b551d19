// Each test starts a whole cluster of real processes; on a 2-core machine several clusters at
// once starve each other (elections, timeouts), so the end-to-end tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
