namespace Allocation.Grains.Directory;

[GenerateSerializer]
public sealed class IdDirectoryState
{
    [Id(0)]
    public HashSet<string> Ids { get; set; } = new(StringComparer.Ordinal);
}

public sealed class IdDirectoryGrain(
    [PersistentState("directory", GrainStorage.Name)] IPersistentState<IdDirectoryState> state) : Grain, IIdDirectoryGrain
{
    public Task<bool> Contains(string id) => Task.FromResult(state.State.Ids.Contains(id));

    public async Task Add(string id)
    {
        if (state.State.Ids.Add(id))
        {
            await state.WriteStateAsync();
        }
    }

    public async Task AddMany(IReadOnlyCollection<string> ids)
    {
        var added = false;
        foreach (var id in ids)
        {
            added |= state.State.Ids.Add(id);
        }

        if (added)
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> List() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Ids.Order(StringComparer.Ordinal).ToList());
}
