from enlist.cli import main

main()
